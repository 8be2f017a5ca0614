"""The faces: how people and tools reach looplab.

=====================  ==========================================================================
:mod:`.cli`            the ``looplab`` command (each command's module imported only when it runs)
:mod:`.servers_cli`    ``mock-vllm``, ``stack``, ``cleanup``
:mod:`.course_cli`     ``labs``, ``episodes``
:mod:`.doctor`         ``looplab doctor``: is this machine ready?
:mod:`.pytest_plugin`  fixtures, strict CI, the leftover-process check
=====================  ==========================================================================

May import every layer. The website's build hooks live beside the site, in ``docs/hooks/``.
"""
