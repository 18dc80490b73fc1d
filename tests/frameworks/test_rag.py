"""Retrieval-augmented answers end to end on the real llama-server, in both frameworks.

Embeddings come from the `--embeddings` server (all-MiniLM-L6-v2), answers from the chat
server. The small model's answer is not judged: the tests check what was retrieved and that the
chat request carried it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore
from llama_index.core import Document as LlamaDocument
from llama_index.core import VectorStoreIndex

from zenllama.langchain import ChatZenLlama, ZenLlamaEmbeddings
from zenllama.llama_index import ZenLlama, ZenLlamaEmbedding
from zenllama.local import LlamaServer

from ..conftest import Run
from ..support.spy import spy_requests
from ..support.testbed import SAMPLING

pytestmark = pytest.mark.llama_server

DOCUMENTS = [
    "The lighthouse keeper Ansel Varga paints the Kestrel Point lighthouse blue every spring.",
    "Sourdough bread needs a starter of flour and water, fed daily for a week.",
    "The Voyager 1 probe left the heliosphere in 2012 and still sends data.",
    "Bees communicate the direction of flowers with a waggle dance.",
]
# Shares no word with its answer's source: MiniLM retrieves by meaning, not by keywords.
QUESTION = "Which spacecraft has travelled beyond the edge of the solar system?"
ANSWER_SOURCE = DOCUMENTS[2]


def _user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"])


# LlamaIndex: VectorStoreIndex + ZenLlamaEmbedding, answered by ZenLlama -------------------
async def test_llama_index_query_engine(
    embeddings_server: LlamaServer,
    tools_server: LlamaServer,
    run: Run[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embed_model = ZenLlamaEmbedding(base_url=embeddings_server.base_url)
    llm = ZenLlama(base_url=tools_server.base_url, **SAMPLING)
    sent = spy_requests(monkeypatch)  # what goes on the wire
    index = VectorStoreIndex.from_documents(
        [LlamaDocument(text=t) for t in DOCUMENTS], embed_model=embed_model
    )
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)

    response = await run(lambda: engine.query(QUESTION), lambda: engine.aquery(QUESTION))

    [source] = response.source_nodes
    assert source.node.get_content() == ANSWER_SOURCE
    assert embed_model.last_usage is not None  # the query was embedded by our class
    # The chat request that went out carried the retrieved text and the question.
    [body] = [s.body for s in sent.chats()]
    assert ANSWER_SOURCE in _user_text(body) and QUESTION in _user_text(body)
    assert DOCUMENTS[1] not in _user_text(body)  # only what was retrieved
    assert str(response).strip()


# LangChain: InMemoryVectorStore retriever | prompt | ChatZenLlama -------------------------
class _Seen(BaseCallbackHandler):
    def __init__(self) -> None:
        self.retrieved: list[Document] = []
        self.chat_messages: list[list[BaseMessage]] = []

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.retrieved.extend(documents)

    def on_chat_model_start(
        self, serialized: Any, messages: list[list[BaseMessage]], *, run_id: UUID, **kwargs: Any
    ) -> None:
        self.chat_messages.extend(messages)


async def test_langchain_retriever_chain(
    embeddings_server: LlamaServer,
    tools_server: LlamaServer,
    run: Run[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embeddings = ZenLlamaEmbeddings(base_url=embeddings_server.base_url)
    store = InMemoryVectorStore.from_texts(DOCUMENTS, embeddings)
    llm = ChatZenLlama(base_url=tools_server.base_url, **SAMPLING)
    sent = spy_requests(monkeypatch)  # what goes on the wire
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer from this context only:\n{context}"),
            ("human", "{question}"),
        ]
    )

    def join(documents: list[Document]) -> str:
        return "\n".join(d.page_content for d in documents)

    retriever = store.as_retriever(search_kwargs={"k": 1})
    chain = (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | prompt
        | llm
        | StrOutputParser()
    )
    seen = _Seen()
    config: Any = {"callbacks": [seen]}
    answer = await run(
        lambda: chain.invoke(QUESTION, config), lambda: chain.ainvoke(QUESTION, config)
    )

    assert [d.page_content for d in seen.retrieved] == [ANSWER_SOURCE]
    [messages] = seen.chat_messages
    assert ANSWER_SOURCE in str(messages[0].content) and messages[1].content == QUESTION
    [body] = [s.body for s in sent.chats()]
    assert body["messages"][0]["content"].endswith(ANSWER_SOURCE)
    assert body["messages"][1] == {"role": "user", "content": QUESTION}
    assert isinstance(answer, str) and answer.strip()
