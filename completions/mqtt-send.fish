complete -c mqtt-send -s c -l config -d 'Flint-style JSON config file (keys: broker, client-id, topic, qos, content, ...)' -r -F
complete -c mqtt-send -s b -l broker -d 'Broker URL: tcp:// mqtt:// (1883), ssl:// mqtts:// tls:// (8883), ws:// (80) and wss:// (443) with a path (/mqtt by default), or host[:port] [config: broker] [default: tcp://localhost:1883]' -r
complete -c mqtt-send -s h -l host -d 'Broker host name or IP address, in place of the broker URL\'s (scheme and port stay)' -r
complete -c mqtt-send -s p -l port -d 'Broker port, in place of the broker URL\'s' -r
complete -c mqtt-send -s i -l client-id -d 'MQTT client identifier (AWS IoT Core: the thing name); \'\' sends an empty one [config: client-id] [default: mqtt-send-<8 random hex digits>]' -r
complete -c mqtt-send -s V -l protocol-version -d 'MQTT version: 5 or 3.1.1; given, no other is tried [config: protocol-version] [default: 5, and 3.1.1 once if the broker does not speak 5]' -r -f -a "5\t''
mqttv5\t''
3.1.1\t''
311\t''
mqttv311\t''"
complete -c mqtt-send -s t -l topic -d 'Topic to publish to (no + or #); required, except with --ndjson [config: topic]' -r
complete -c mqtt-send -s q -l qos -d 'Quality of service: 0, 1 or 2 [config: qos] [default: 2]' -r -f -a "0\t''
1\t''
2\t''"
complete -c mqtt-send -s m -l content -d 'The message [config: content]' -r
complete -c mqtt-send -s f -l content-file -d 'Read the message from a file, byte for byte; - reads stdin' -r -F
complete -c mqtt-send -s r -l retain -d 'Ask the broker to retain the message [config: retain] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l user-property -d 'A user property, KEY=VALUE; repeatable, in order, a key may repeat [config: user-property]' -r
complete -c mqtt-send -l content-type -d 'Content type of the message (a MIME type, such as application/json) [config: content-type]' -r
complete -c mqtt-send -l message-expiry -d 'Seconds the broker keeps the message for subscribers that have not received it yet [config: message-expiry]' -r
complete -c mqtt-send -l response-topic -d 'Topic for a response to the message (no + or #) [config: response-topic]' -r
complete -c mqtt-send -l correlation-data -d 'Correlation data for a response: the bytes of TEXT [config: correlation-data]' -r
complete -c mqtt-send -l payload-format -d 'utf8: the payload is UTF-8 text (checked before sending) [config: payload-format]' -r -f -a "utf8\t''"
complete -c mqtt-send -s u -l username -d 'Username [config: username]' -r
complete -c mqtt-send -s P -l password -d 'Password; visible to ps, prefer MQTT_SEND_PASSWORD or --password-file [config: password]' -r
complete -c mqtt-send -l password-file -d 'Read the password from the first line of a file' -r -F
complete -c mqtt-send -l root-ca-crt -d 'PEM CA bundle that signs the broker\'s certificate [config: root-ca-crt] [default: the system trust store]' -r -F
complete -c mqtt-send -l certificate -d 'PEM client certificate (chain) [config: certificate]' -r -F
complete -c mqtt-send -l private-key -d 'PEM private key: PKCS#1, PKCS#8 or SEC1 [config: private-key]' -r -F
complete -c mqtt-send -l use-certificate -d 'Authenticate with the client certificate [config: use-certificate] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l alpn -d 'ALPN protocol to offer in the TLS handshake; repeatable [config: alpn] [default: x-amzn-mqtt-ca on port 443 with a client certificate, mqtt with --aws-authorizer, http/1.1 for wss://]' -r
complete -c mqtt-send -l proxy -d 'HTTP proxy to tunnel through (CONNECT): http://[user:password@]host:port; without it, HTTPS_PROXY (TLS, wss), HTTP_PROXY (tcp, ws), ALL_PROXY and NO_PROXY apply, except to loopback brokers [config: proxy]' -r
complete -c mqtt-send -l aws-sigv4 -d 'wss:// only: sign the WebSocket URL with AWS SigV4 (AWS IoT Core with IAM credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or AWS_PROFILE\'s static keys; region from AWS_REGION or the endpoint) [config: aws-sigv4] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l aws-authorizer -d 'AWS IoT custom authorizer to name in the username (offers ALPN mqtt on port 443) [config: aws-authorizer]' -r
complete -c mqtt-send -l aws-authorizer-token -d 'The token the custom authorizer reads, as its token key name and value [config: aws-authorizer-token]' -r
complete -c mqtt-send -l aws-authorizer-signature -d 'The token\'s signature, for an authorizer with token signing on [config: aws-authorizer-signature]' -r
complete -c mqtt-send -l timeout -d 'One deadline for the whole run, in seconds [config: timeout] [default: 30]' -r
complete -c mqtt-send -l retries -d 'Retry connection failures where nothing was published, at most 1000 times [config: retries] [default: 0]' -r
complete -c mqtt-send -l lines -d 'Batch: every line of the content is one message to --topic, over one connection; empty lines are skipped [config: lines] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l ndjson -d 'Batch: every line is a JSON message {"topic","content","qos","retain"} that may set the MQTT 5 properties too (by their config keys); missing fields come from the flags; empty lines are skipped [config: ndjson] [default: false]' -r -f -a "true\t''
false\t''"
complete -c mqtt-send -l action -d 'Flint\'s action name; only "send" is accepted [config: action] [default: send]' -r
complete -c mqtt-send -l generate -d 'Write the shell completions and the man page under DIR (for packagers and developers)' -r -F
complete -c mqtt-send -s v -l verbose -d 'Log protocol events and decisions on stderr (never a secret)'
complete -c mqtt-send -l help -d 'Print help'
complete -c mqtt-send -l version -d 'Print version'
