// Asio's OpenSSL glue compiled once, like asio_beast.cpp for the rest.
#include <boost/asio/ssl/impl/src.hpp>
