"""Training: the `Session` an algorithm's ``train(session)`` gets (`session`), the stock loops
it calls (`loops`), the learners it composes (`learners`), the contract (`contract`) and the
run around it (`runner.train`: baseline -> ``algorithm.train(session)`` -> final)."""
