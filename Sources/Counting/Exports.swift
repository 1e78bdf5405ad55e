@_exported import Support
