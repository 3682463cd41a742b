#pragma once
// Asio and Beast names for havend's private networking code.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <haven/net/streams.hpp>

namespace haven::server {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// The sessions are templates over the two streams (basic_http_session,
// basic_ws_session), instantiated for both.
using streams::channel_binding;
using streams::is_loopback_host;
using streams::is_tls;
using streams::plain_stream;
using streams::tls_stream;

}  // namespace haven::server
