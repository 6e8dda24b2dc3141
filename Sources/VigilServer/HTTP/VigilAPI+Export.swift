// The HTTP API's response types live in VigilAPI (so `vigil status` and `vigil-bench` decode them
// without the server); the server's clients keep seeing them through VigilServer.
@_exported import VigilAPI
