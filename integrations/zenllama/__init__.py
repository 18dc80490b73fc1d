"""zenllama: LangChain and LlamaIndex on OpenCode zen or a local llama-server, one BACKEND_URL apart."""

__version__ = "0.1.0"
