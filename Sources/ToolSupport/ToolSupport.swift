// ToolSupport: what every kswap tool shares: options, output conventions, atomic writes, exit statuses.
