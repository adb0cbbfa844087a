from soilbiome.cli import main

main()
