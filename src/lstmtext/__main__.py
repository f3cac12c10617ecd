from lstmtext.cli.app import main

main()
