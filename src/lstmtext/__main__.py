from lstmtext.cli import main

main()
