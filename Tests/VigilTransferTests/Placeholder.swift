import Testing
import VigilTransfer
