"""python -m stc_cli"""

from stc_cli.main import app

app(prog_name="stc")
