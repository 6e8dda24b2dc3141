import Testing
import VigilClient
