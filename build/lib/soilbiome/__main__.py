from soilbiome.cli import main

main(prog_name="soilbiome")
