import ModelCommands

Pretrain.main()
