import FileCommands

Pack.main()
