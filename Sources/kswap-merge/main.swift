import ModelCommands

Merge.main()
