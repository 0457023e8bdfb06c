"""Suite-wide fixtures.  Component fixtures live in each test folder's conftest."""

import os
import sys

# Tests import pyk8s from the work tree.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
