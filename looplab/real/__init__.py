"""The real systems: a real vLLM (CPU build) and the released Llama Stack 0.2.2 / 0.2.3.

=====================  ==========================================================================
:mod:`.envs`           the incident-era interpreter (``.venv-incident/``, openai 1.73)
:mod:`.install`        one cached install (stamp, lock, staged build), shared by all of them
:mod:`.vllm`           ``.venv-vllm/``, the tiny local model, a real vLLM server
:mod:`.releases`       the released Llama Stack servers, as overlays on the incident-era interpreter
``inside/``            code that runs in those other interpreters
=====================  ==========================================================================

May import the studied system and :mod:`looplab.servers`.
"""
