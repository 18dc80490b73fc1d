"""zenllama.core stays framework-free: importing it loads neither LangChain nor LlamaIndex."""

import subprocess
import sys


def test_core_imports_no_framework() -> None:
    probe = (
        "import sys, zenllama.core, zenllama.frameworks, zenllama.local; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'langchain_core', 'llama_index'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
