import ModelCommands

Forget.main()
