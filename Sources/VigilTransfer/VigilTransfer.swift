/// Files on disk for both ends of a transfer: partial files, hashing, fsync, atomic rename, resume.
public enum VigilTransfer {}
