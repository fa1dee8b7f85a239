#!/usr/bin/perl
# make-test-mmdb.pl - writes the two tiny GeoIP databases used by
# test_helpers_ip.c (and usable by hubtest's geoip-enrich case, whose expected
# values they reproduce: 1.2.3.4 -> FR, in the EU, 46.0/2.0, AS4242 "Crowdsec",
# range 1.2.3.0/24). Needs Debian's libmaxmind-db-writer-perl.
#
#   perl make-test-mmdb.pl <outdir>
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift // '.';

my %types = (
    accuracy_radius                => 'uint16',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
    city                           => 'map',
    code                           => 'utf8_string',
    continent                      => 'map',
    country                        => 'map',
    en                             => 'utf8_string',
    fr                             => 'utf8_string',
    geoname_id                     => 'uint32',
    is_anonymous_proxy             => 'boolean',
    is_in_european_union           => 'boolean',
    iso_code                       => 'utf8_string',
    latitude                       => 'double',
    location                       => 'map',
    longitude                      => 'double',
    metro_code                     => 'uint16',
    names                          => 'map',
    postal                         => 'map',
    registered_country             => 'map',
    subdivisions                   => [ 'array', 'map' ],
    time_zone                      => 'utf8_string',
    traits                         => 'map',
);

sub tree {
    my ($type) = @_;
    return MaxMind::DB::Writer::Tree->new(
        ip_version              => 6,
        record_size             => 24,
        database_type           => $type,
        languages               => ['en'],
        description             => { en => "Phalanx test $type" },
        remove_reserved_networks => 0,
        map_key_type_callback   => sub { $types{ $_[0] } },
    );
}

my $france = {
    geoname_id           => 3017382,
    is_in_european_union => 1,
    iso_code             => 'FR',
    names                => { en => 'France', fr => 'France' },
};

my $city = tree('GeoLite2-City');
$city->insert_network(
    '::1.2.3.0/120',
    {
        city      => { geoname_id => 2988507, names => { en => 'Paris' } },
        continent => { code => 'EU', geoname_id => 6255148, names => { en => 'Europe' } },
        country   => $france,
        registered_country => $france,
        location  => {
            accuracy_radius => 500,
            latitude        => 46.0,
            longitude       => 2.0,
            time_zone       => 'Europe/Paris',
        },
        postal       => { code => '75001' },
        subdivisions => [
            { geoname_id => 3012874, iso_code => 'IDF', names => { en => 'Ile-de-France' } },
            { geoname_id => 2968815, iso_code => '75', names => { en => 'Paris' } },
        ],
    }
);
# Only a registered country: IPToCountry gives "" here, as geoip2 does.
$city->insert_network(
    '::5.6.7.0/120',
    { registered_country => { geoname_id => 6252001, iso_code => 'US', names => { en => 'United States' } } }
);
$city->insert_network(
    '2001:db8::/32',
    {
        country  => { geoname_id => 2921044, is_in_european_union => 1, iso_code => 'DE', names => { en => 'Germany' } },
        location => { latitude => 51.5, longitude => 10.5 },
        traits   => { is_anonymous_proxy => 1 },
    }
);

my $asn = tree('GeoLite2-ASN');
$asn->insert_network('::1.2.3.0/120',
    { autonomous_system_number => 4242, autonomous_system_organization => 'Crowdsec' });
$asn->insert_network('::8.8.0.0/112',
    { autonomous_system_number => 15169, autonomous_system_organization => 'Google LLC' });
$asn->insert_network('2001:db8:1::/48',
    { autonomous_system_number => 64512, autonomous_system_organization => 'Phalanx Test v6' });

for ([ $city, 'GeoLite2-Test-City.mmdb' ], [ $asn, 'GeoLite2-Test-ASN.mmdb' ]) {
    my ($t, $name) = @$_;
    open my $fh, '>:raw', "$out/$name" or die "$out/$name: $!";
    $t->write_tree($fh);
    close $fh or die "$out/$name: $!";
}
