import SurgeryCommands

Merge.main()
