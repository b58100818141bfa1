// ModelCommands: the tools that compute on weights (kswap-learn, -forget, -eval, -merge, -diff).
