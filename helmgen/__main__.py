from helmgen.cli import main

main()
