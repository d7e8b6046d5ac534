"""The reference side of every lab: unicorn's own code behind each lab's interface.

`labNN/` holds one module for each module of labs/NN-topic/starter/, with the same names and the
same interface. Where unicorn implements the lab's topic, the module is a thin adapter that calls
unicorn's real code, importing it inside a function so that a rename in unicorn breaks one
obvious line here. Where unicorn has nothing to call (lab 1's middleware), it is a small, clear,
correct implementation.
"""
