from runner._cli import main

main()
