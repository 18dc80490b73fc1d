"""zenllama: LangChain and LlamaIndex on OpenCode zen or a local llama-server.

One BACKEND_URL apart, nothing lost: reasoning, tool calls, usage, streaming, embeddings.
"""

__version__ = "0.1.0"
