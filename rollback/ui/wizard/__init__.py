"""The interactive wizard: ``flow`` walks the steps; ``target``, ``data`` and ``context`` each
own one part of it; ``prompts`` is the seam through which every question is asked (or
answered by a flag in ``WizardFlags``).
"""
