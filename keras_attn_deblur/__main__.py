"""`python -m keras_attn_deblur`: the `attn-deblur` command line."""

import sys

from keras_attn_deblur.cli import main

if __name__ == "__main__":
    sys.exit(main())
