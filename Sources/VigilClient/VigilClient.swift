/// A client connection for people's tools.
public enum VigilClient {}
