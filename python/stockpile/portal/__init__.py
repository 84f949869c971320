"""The transparency portal: a read-only web application over the chain and the custody database
(``stockpile portal serve``); see README.md in this folder."""
