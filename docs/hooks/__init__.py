"""MkDocs hooks: pages whose lists are generated from the code and the benchmark results."""
