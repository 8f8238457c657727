from cityline.cli import main

main()
