"""Code that runs inside *other* interpreters, not looplab's own ``.venv/``.

=====================  ===================================  ==========================================
module                 runs in                              may import
=====================  ===================================  ==========================================
``tiny_model.py``      vLLM's ``.venv-vllm/`` (as a script)  the standard library, torch, transformers,
                                                            tokenizers
``release_wrapper.py`` ``.venv-incident/`` + a release      the standard library, uvicorn, openai, the
                                                            release, :mod:`looplab.servers.serve`
=====================  ===================================  ==========================================

``tests/test_layers.py`` runs each of them where it runs, so a stray import fails there.
"""
