# re-export until the intake modules import common.directory
from common.directory import DirectoryRefused, Person, RecipientDirectory, Unit, verify_directory

__all__ = ["DirectoryRefused", "Person", "RecipientDirectory", "Unit", "verify_directory"]
