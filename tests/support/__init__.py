"""Everything the tests use that is not a test: how they intercept HTTP and what they answer.

    fake_servers   FakeServer (a scripted OpenAI-compatible server on loopback), FaultServer
                   (misbehaves below HTTP), Reply / Seen / sse / error
    spy            every httpx request the client really sent (headers included)
    recorded       vcrpy: cassettes RECORDED from the real llama-server (`make record`)
    synthesized    zen cassettes SYNTHESIZED from zen's documented format (`make synthesize`,
                   which runs synthesize_zen.py); fake_zen answers zen's three wires in-process
    answers        the canned chat-completions answers (builders, one TIMINGS, llama-server's
                   and zen's answers); wire_shapes: the table of backends' answer shapes;
                   wire_streams: Messages / Responses answers as SSE; embeddings_fake: computed
                   /v1/embeddings answers
    testbed        shared inputs for the real llama-server test bed (sampling, tools, grammar)
    gateway_bed    the LiteLLM proxy over two llama-servers per model (litellm_proxy,
                   gateway_load: its config and its concurrent streams)
    drivers        both framework classes behind one interface, for the scenarios
    llama_index_calls  a LlamaIndex call through its sync or async form
    release        the wheel built and installed as a release would (compat, test_wheel)
    templates/     chat templates only tests use
"""
