import Testing

@Suite struct TCPConnectionHandlerTests {}
