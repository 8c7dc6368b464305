from rollback.cli import main

main()
