import ModelCommands

Eval.main()
