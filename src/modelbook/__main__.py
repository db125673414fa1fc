from modelbook.cli import main

main()
