import InspectCommand

Inspect.main()
