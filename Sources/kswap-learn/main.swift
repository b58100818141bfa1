import ModelCommands

Learn.main()
