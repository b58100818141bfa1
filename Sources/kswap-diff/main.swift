import SurgeryCommands

Diff.main()
