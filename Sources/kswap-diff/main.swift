import ModelCommands

Diff.main()
