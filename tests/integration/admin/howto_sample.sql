-- MySQL dump 10.13  Distrib 5.7.42, for Linux (x86_64)
-- A small sample of the classic "Postfix + MySQL virtual users" howto tables, written for the
-- vhostmail import test. Passwords: anna "des pass" (ENCRYPT() DES), bert "md5 pass" (md5crypt).
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8 */;

DROP TABLE IF EXISTS `domains`;
CREATE TABLE `domains` (
  `domain` varchar(50) NOT NULL,
  PRIMARY KEY (`domain`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

LOCK TABLES `domains` WRITE;
/*!40000 ALTER TABLE `domains` DISABLE KEYS */;
INSERT INTO `domains` VALUES ('howto.example'),('lists.howto.example');
/*!40000 ALTER TABLE `domains` ENABLE KEYS */;
UNLOCK TABLES;

DROP TABLE IF EXISTS `forwardings`;
CREATE TABLE `forwardings` (
  `source` varchar(80) NOT NULL,
  `destination` text NOT NULL,
  PRIMARY KEY (`source`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

LOCK TABLES `forwardings` WRITE;
INSERT INTO `forwardings` VALUES ('info@howto.example','anna@howto.example, boss@elsewhere.example'),('@lists.howto.example','anna@howto.example'),('anna@howto.example','anna@howto.example,anna.backup@mail.example');
UNLOCK TABLES;

DROP TABLE IF EXISTS `users`;
CREATE TABLE `users` (
  `email` varchar(80) NOT NULL,
  `password` varchar(40) NOT NULL,
  `quota` int(10) DEFAULT '10485760',
  PRIMARY KEY (`email`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;

LOCK TABLES `users` WRITE;
INSERT INTO `users` VALUES ('anna@howto.example','Xy3qwPYhZvUes',10485760),
  ('bert@howto.example','$1$abcdefgh$uuYZx3j9lFDZkJ8so.M6t1',0);
UNLOCK TABLES;

DROP TABLE IF EXISTS `transport`;
CREATE TABLE `transport` (
  `domain` varchar(128) NOT NULL default '',
  `transport` varchar(128) NOT NULL default '',
  UNIQUE KEY `domain` (`domain`)
) ENGINE=MyISAM DEFAULT CHARSET=utf8;
INSERT INTO `transport` VALUES ('howto.example','virtual:');
