// The one translation unit that compiles Asio's and Beast's implementations.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
