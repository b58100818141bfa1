import FileCommands

Inspect.main()
