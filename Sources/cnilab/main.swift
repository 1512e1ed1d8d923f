print("cnilab")
